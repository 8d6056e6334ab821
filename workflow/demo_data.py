"""Synthetic facilities and people for the demo, shaped like the Castañon Nava class.

The demo and the benchmarks need a class list that looks like the real one (who
was arrested in Chicago in 2025, what they speak, where ICE took them) without
holding anyone's data. Facility names and towns are real; the codes are
synthetic, the street addresses approximate, and every phone number is a
fictional 555-01NN number. People are invented from the name pools below.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class FacilityInfo:
    code: str
    name: str
    address: str
    city: str
    state: str
    phone: str
    field_office: str
    time_zone: str
    weight: float  # share of the class held here


_CT, _ET, _MT, _PT = "America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles"

FACILITIES: tuple[FacilityInfo, ...] = (
    FacilityInfo("BROADIL", "Broadview Processing Center", "1930 Beach St", "Broadview", "IL",
                 "+1 708-555-0100", "Chicago", _CT, 14.0),
    FacilityInfo("CLAYCIN", "Clay County Jail", "611 E Jackson St", "Brazil", "IN",
                 "+1 812-555-0101", "Chicago", "America/Indiana/Indianapolis", 6.0),
    FacilityInfo("KENOSWI", "Kenosha County Detention Center", "4777 88th Ave", "Kenosha", "WI",
                 "+1 262-555-0102", "Chicago", _CT, 4.0),
    FacilityInfo("DODGEWI", "Dodge County Jail", "216 W Center St", "Juneau", "WI",
                 "+1 920-555-0103", "Chicago", _CT, 3.0),
    FacilityInfo("PULASIL", "Pulaski County Detention Center", "20 Justice Dr", "Ullin", "IL",
                 "+1 618-555-0104", "Chicago", _CT, 2.0),
    FacilityInfo("BOONEKY", "Boone County Jail", "3020 Conrad Ln", "Burlington", "KY",
                 "+1 859-555-0105", "Chicago", _ET, 2.0),
    FacilityInfo("CALHOMI", "Calhoun County Correctional Center", "185 E Michigan Ave",
                 "Battle Creek", "MI", "+1 269-555-0106", "Detroit", "America/Detroit", 2.0),
    FacilityInfo("NLAKEMI", "North Lake Processing Center", "1805 W 32nd St", "Baldwin", "MI",
                 "+1 231-555-0107", "Detroit", "America/Detroit", 3.0),
    FacilityInfo("PRAIRTX", "Prairieland Detention Center", "1209 Sunflower Ln", "Alvarado", "TX",
                 "+1 817-555-0108", "Dallas", _CT, 3.0),
    FacilityInfo("BLUEBTX", "Bluebonnet Detention Facility", "400 2nd St", "Anson", "TX",
                 "+1 325-555-0109", "Dallas", _CT, 3.0),
    FacilityInfo("STXPCTX", "South Texas ICE Processing Center", "566 Veterans Dr", "Pearsall",
                 "TX", "+1 830-555-0110", "San Antonio", _CT, 3.0),
    FacilityInfo("PISPCTX", "Port Isabel Service Processing Center", "27991 Buena Vista Blvd",
                 "Los Fresnos", "TX", "+1 956-555-0111", "Harlingen", _CT, 2.0),
    FacilityInfo("CEMONTX", "Camp East Montana", "Fort Bliss", "El Paso", "TX",
                 "+1 915-555-0112", "El Paso", _MT, 4.0),
    FacilityInfo("JENALA", "Central Louisiana ICE Processing Center", "830 Pinehill Rd", "Jena",
                 "LA", "+1 318-555-0113", "New Orleans", _CT, 5.0),
    FacilityInfo("WINNCLA", "Winn Correctional Center", "560 Gum Springs Rd", "Winnfield", "LA",
                 "+1 318-555-0114", "New Orleans", _CT, 2.0),
    FacilityInfo("RICHWLA", "Richwood Correctional Center", "180 Pine Bayou Cir", "Monroe", "LA",
                 "+1 318-555-0115", "New Orleans", _CT, 2.0),
    FacilityInfo("JACKPLA", "Jackson Parish Correctional Center", "327 Industrial Dr",
                 "Jonesboro", "LA", "+1 318-555-0116", "New Orleans", _CT, 2.0),
    FacilityInfo("STEWAGA", "Stewart Detention Center", "146 CCA Rd", "Lumpkin", "GA",
                 "+1 229-555-0117", "Atlanta", _ET, 2.0),
    FacilityInfo("KROMEFL", "Krome North Service Processing Center", "18201 SW 12th St", "Miami",
                 "FL", "+1 305-555-0118", "Miami", _ET, 2.0),
    FacilityInfo("ELOYAZ", "Eloy Detention Center", "1705 E Hanna Rd", "Eloy", "AZ",
                 "+1 520-555-0119", "Phoenix", "America/Phoenix", 2.0),
    FacilityInfo("OTERONM", "Otero County Processing Center", "26 McGregor Range Rd", "Chaparral",
                 "NM", "+1 575-555-0120", "El Paso", _MT, 2.0),
    FacilityInfo("TORRANM", "Torrance County Detention Facility", "209 County Rd 49", "Estancia",
                 "NM", "+1 505-555-0121", "El Paso", _MT, 1.0),
    FacilityInfo("OTAYMCA", "Otay Mesa Detention Center", "7488 Calzada de la Fuente",
                 "San Diego", "CA", "+1 619-555-0122", "San Diego", _PT, 1.0),
    FacilityInfo("ADLNTCA", "Adelanto ICE Processing Center", "10250 Rancho Rd", "Adelanto", "CA",
                 "+1 760-555-0123", "Los Angeles", _PT, 1.0),
    FacilityInfo("NWIPCWA", "Northwest ICE Processing Center", "1623 E J St", "Tacoma", "WA",
                 "+1 253-555-0124", "Seattle", _PT, 1.0),
    FacilityInfo("DENVRCO", "Denver Contract Detention Facility", "3130 N Oakland St", "Aurora",
                 "CO", "+1 303-555-0125", "Denver", _MT, 1.0),
    FacilityInfo("MOSHAPA", "Moshannon Valley Processing Center", "555 GEO Dr", "Philipsburg",
                 "PA", "+1 814-555-0126", "Philadelphia", _ET, 1.0),
    FacilityInfo("DELANNJ", "Delaney Hall", "451 Doremus Ave", "Newark", "NJ",
                 "+1 973-555-0127", "Newark", _ET, 1.0),
    FacilityInfo("ELIZANJ", "Elizabeth Detention Center", "625 Evans St", "Elizabeth", "NJ",
                 "+1 908-555-0128", "Newark", _ET, 1.0),
    FacilityInfo("BAKERFL", "Baker County Detention Center", "1 Sheriff Office Dr", "Macclenny",
                 "FL", "+1 904-555-0129", "Miami", _ET, 1.0),
)
_FACILITY_WEIGHTS = tuple(f.weight for f in FACILITIES)

# Each pool is a (given names, family names) pair for the people who speak a language.
_SPANISH = (
    (
        "José", "María", "Jesús", "Andrés", "Ramón", "Sofía", "Juan", "Luis", "Carlos", "Jorge",
        "Miguel", "Ángel", "Francisco", "Javier", "Alejandro", "Eduardo", "Fernando", "Ricardo",
        "Roberto", "Manuel", "Pedro", "Raúl", "Rubén", "Óscar", "Héctor", "Víctor", "Sergio",
        "Mario", "Arturo", "Gerardo", "Rogelio", "Efraín", "Nicolás", "Tomás", "Julián",
        "Martín", "Sebastián", "Joaquín", "Adrián", "Iván", "Elías", "Moisés", "Ismael", "Edwin",
        "Wilmer", "Yeferson", "Deivis", "Yonaiker", "Brayan", "Juan Carlos", "José Luis",
        "Guadalupe", "Rosa", "Ana", "Lucía", "Verónica", "Mónica", "Patricia", "Leticia",
        "Gabriela", "Daniela", "Valeria", "Ximena", "Alejandra", "Claudia", "Beatriz", "Inés",
        "Araceli", "Maribel", "Yesenia", "Marisol", "Itzel", "Xóchitl", "Esperanza", "Carmen",
        "Teresa", "Raquel", "Noemí", "Belén", "Yusmary", "Yorbelis", "Génesis", "Nayeli",
        "Dayana", "Milagros", "Rocío", "Azucena", "Reyna", "María José", "Luz María",
    ),
    (
        "Núñez", "Peña", "Ibáñez", "Gómez", "Hernández", "Muñoz", "García", "Martínez",
        "López", "González", "Rodríguez", "Pérez", "Sánchez", "Ramírez", "Flores", "Torres",
        "Rivera", "Díaz", "Cruz", "Morales", "Reyes", "Gutiérrez", "Ortiz", "Chávez", "Ramos",
        "Ruiz", "Jiménez", "Mendoza", "Álvarez", "Castillo", "Romero", "Vázquez", "Castro",
        "Vargas", "Herrera", "Medina", "Aguilar", "Guzmán", "Salazar", "Méndez", "Domínguez",
        "Rojas", "Contreras", "Estrada", "Figueroa", "Ríos", "Soto", "Juárez", "Delgado",
        "Ortega", "Fuentes", "Espinoza", "Cervantes", "Avilés", "Benítez", "Carrasco", "Zúñiga",
        "Quiñones", "Villaseñor", "Montaño", "Valdés", "Márquez", "Sandoval", "Cárdenas",
        "Navarro", "Bautista", "Maldonado", "Orozco", "Velásquez", "Pacheco", "Ochoa", "Rosales",
        "Arellano", "Solís", "Trejo", "Escobar", "Cisneros", "Galván", "Lozano", "Mejía",
        "Osorio", "Paredes", "Quintero", "Saldaña", "Tapia", "Ulloa", "Vega", "Zamora",
        "Barrientos", "Cabrera", "Duarte", "Echeverría", "Guerrero", "Ibarra", "Lara", "Monzón",
        "Nájera", "Olvera", "Portillo", "Roldán", "Santillán", "Tovar", "Urías", "Villalobos",
        "García López", "Hernández Ruiz", "Martínez Peña", "López Ibáñez", "Pérez Muñoz",
        "Gómez Castillo", "Rodríguez Núñez", "Sánchez Olvera", "Ramírez Soto", "Cruz Méndez",
        "Reyes Gutiérrez", "Díaz de León", "Flores Cárdenas", "Torres Zúñiga", "Morales Vega",
        "Juárez Ochoa", "De la Cruz",
    ),
)
_MAYA = (
    ("Ixchel", "Ixmucané", "Tecún", "Balam", "Ixkik"),
    ("Tzul", "Ajanel", "Xicará", "Cux", "Batz", "Tzoc", "Chumil", "Coj", "Ixcoy", "Bámaca",
     "Chilel", "Tuyuc"),
)
_PORTUGUESE = (
    ("João", "Thiago", "Lucas", "Ana Clara", "Luana", "Wellington", "Rafaela"),
    ("Silva", "Souza", "Oliveira", "Conceição", "Araújo", "Gonçalves", "Ferreira"),
)
_HAITIAN = (
    ("Jean", "Wislande", "Mackenson", "Nadège", "Fritznel", "Rose-Mirlande", "Wisly"),
    ("Pierre", "Joseph", "Jean-Baptiste", "Dorvil", "Célestin", "Louis-Jeune", "Augustin"),
)
_UKRAINIAN = (
    ("Oleksandr", "Oksana", "Mykola", "Iryna", "Dmytro", "Yuliia"),
    ("Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Melnyk", "Hnatiuk"),
)
_CHINESE = (
    ("Wei", "Jianhua", "Xiaoling", "Mingyu", "Hui", "Zhiqiang"),
    ("Chen", "Lin", "Zheng", "Wang", "Liu", "Huang"),
)
_ROMANIAN = (
    ("Ionuț", "Andreea", "Florin", "Mihaela", "Marius"),
    ("Popescu", "Ionescu", "Stan", "Dumitru", "Lăcătuș"),
)
_POLISH = (
    ("Krzysztof", "Agnieszka", "Tomasz", "Małgorzata", "Paweł"),
    ("Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Zieliński"),
)
_INDIAN = (
    ("Gurpreet", "Harjit", "Manpreet", "Rajesh", "Sunil", "Jaspreet"),
    ("Singh", "Kaur", "Patel", "Sharma", "Kumar", "Sandhu"),
)
_ENGLISH = (
    ("Delroy", "Shanice", "Marlon", "Keisha", "Andre", "Tashana"),
    ("Brown", "Campbell", "Williams", "Young", "Flowers", "Gentle", "McKenzie"),
)
_POOLS = (_SPANISH, _MAYA, _PORTUGUESE, _HAITIAN, _UKRAINIAN, _CHINESE, _ROMANIAN, _POLISH,
          _INDIAN, _ENGLISH)
GIVEN_NAMES: tuple[str, ...] = tuple(name for given, _ in _POOLS for name in given)
FAMILY_NAMES: tuple[str, ...] = tuple(name for _, family in _POOLS for name in family)

# Mam and K'iche' speakers mostly carry Spanish given names, and Maya or Spanish family names.
_MAYA_SPEAKERS = (_SPANISH[0] + _MAYA[0], _MAYA[1] + _SPANISH[1])
_NAMES_BY_LANGUAGE = {
    "es": _SPANISH, "mam": _MAYA_SPEAKERS, "quc": _MAYA_SPEAKERS,
    "pt": _PORTUGUESE, "ht": _HAITIAN, "uk": _UKRAINIAN, "zh": _CHINESE, "ro": _ROMANIAN,
    "pl": _POLISH, "pa": _INDIAN, "hi": _INDIAN, "en": _ENGLISH,
}

# (country of birth, language, weight): Spanish speakers weigh 80 of 100.
COUNTRIES: tuple[tuple[str, str, float], ...] = (
    ("Mexico", "es", 46.0),
    ("Guatemala", "es", 9.0),
    ("Guatemala", "mam", 2.5),
    ("Guatemala", "quc", 1.5),
    ("Honduras", "es", 8.0),
    ("Venezuela", "es", 7.0),
    ("El Salvador", "es", 4.0),
    ("Ecuador", "es", 3.5),
    ("Colombia", "es", 2.5),
    ("Brazil", "pt", 3.0),
    ("Haiti", "ht", 2.5),
    ("Ukraine", "uk", 1.5),
    ("China", "zh", 2.0),
    ("Romania", "ro", 1.5),
    ("Poland", "pl", 1.5),
    ("India", "pa", 1.2),
    ("India", "hi", 0.8),
    ("Belize", "en", 1.0),
    ("Jamaica", "en", 1.0),
)
_COUNTRY_WEIGHTS = tuple(weight for _, _, weight in COUNTRIES)

_YOUNGEST = date(2007, 11, 12)  # 18 on the order date, 12 November 2025
_OLDEST = date(1954, 11, 13)  # 70 on the order date
_CHICAGO_AREA_CODES = ("312", "773", "872", "708", "630", "847", "224", "331", "815")
_ASCII = str.maketrans("áàâãäçéèêíîñóôõöúüășțłńśźżęąć", "aaaaaceeeiinoooouuastlnszzeac")


def synthetic_person(rng: random.Random, index: int) -> dict[str, object]:
    """One invented member of the class; the A-number depends on ``index`` alone.

    A-numbers are ``2xxxxxxxx`` and distinct for every ``index`` below 10**8: the
    multiplier is coprime with 10**8, so the mapping is a permutation.
    """
    country, language, _ = rng.choices(COUNTRIES, weights=_COUNTRY_WEIGHTS)[0]
    given_pool, family_pool = _NAMES_BY_LANGUAGE[language]
    given, family = rng.choice(given_pool), rng.choice(family_pool)
    span = (_YOUNGEST - _OLDEST).days
    born = _YOUNGEST - timedelta(days=round(rng.triangular(0, span, span * 0.3)))
    phone = None
    if rng.random() >= 0.3:
        phone = f"+1 {rng.choice(_CHICAGO_AREA_CODES)}-555-01{rng.randrange(100):02d}"
    email = None
    if rng.random() < 0.2:
        email = f"{_ascii(given)}.{_ascii(family)}{rng.randrange(10, 100)}@example.org"
    return {
        "a_number": str(200_000_000 + (index * 7_368_787 + 1_234_567) % 100_000_000),
        "family_name": family,
        "given_name": given,
        "date_of_birth": born,
        "country_of_birth": country,
        "language": language,
        "phone": phone,
        "email": email,
    }


def pick_facility(rng: random.Random) -> FacilityInfo:
    """A facility, chosen in proportion to how many of the class it held."""
    return rng.choices(FACILITIES, weights=_FACILITY_WEIGHTS)[0]


def _ascii(name: str) -> str:
    """The first word of a name as an e-mail local part: 'Núñez Peña' → 'nunez'."""
    word = name.split()[0].lower().translate(_ASCII)
    return "".join(ch for ch in word if ch.isascii() and ch.isalpha())
