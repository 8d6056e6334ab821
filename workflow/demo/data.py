"""Synthetic facilities and people for the demo, shaped like the Castañon Nava class.

The demo and the benchmarks need a class list that looks like the real one (who
was arrested in Chicago in 2025, what they speak, where ICE took them) without
holding anyone's data. Facilities are real, from the shipped directory (DETLOC
codes, names, addresses, field offices, time zones); every phone number is a
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


# Where the demo's people are held (DETLOC code, the area code of its fictional phone, the share
# of the class held there): Broadview first, then the jails of the Chicago area and the large
# facilities people were transferred to.
_HELD_AT = (
    ("BSAHOLD", "708", 14.0), ("CLAYCIN", "812", 6.0), ("KENOSWI", "262", 4.0),
    ("DODGEWI", "920", 3.0), ("PULASIL", "618", 2.0), ("BOONEKY", "859", 2.0),
    ("CALHOMI", "269", 2.0), ("EPC", "915", 3.0), ("PRLDCTX", "817", 3.0),
    ("BLBNATX", "325", 3.0), ("STCDFTX", "830", 3.0), ("PIC", "956", 2.0),
    ("STFRCTX", "830", 4.0), ("JENADLA", "318", 5.0), ("LAWINCI", "318", 2.0),
    ("RWCCMLA", "318", 2.0), ("JKPCCLA", "318", 2.0), ("STWRTGA", "229", 2.0),
    ("KRO", "305", 2.0), ("EAZ", "520", 2.0), ("OTRPCNM", "575", 2.0),
    ("TOORANM", "505", 1.0), ("CCASDCA", "619", 1.0), ("ADLNTCA", "760", 1.0),
    ("CSCNWWA", "253", 1.0), ("DENICDF", "303", 1.0), ("JAMESGA", "912", 1.0),
    ("DHDFNJ", "973", 1.0), ("ELZICDF", "908", 1.0), ("BAKERFL", "904", 1.0),
)


def _facilities() -> tuple[FacilityInfo, ...]:
    """The demo's facilities, their facts read from the directory that ships with bondtrack."""
    from workflow.actions.places import shipped_facilities

    directory = {row["code"]: row for row in shipped_facilities()}
    return tuple(
        FacilityInfo(code, directory[code]["name"], directory[code]["address"] or "",
                     directory[code]["city"], directory[code]["state"],
                     f"+1 {area}-555-01{n:02d}", directory[code]["field_office"],
                     directory[code]["time_zone"], weight)
        for n, (code, area, weight) in enumerate(_HELD_AT))


FACILITIES: tuple[FacilityInfo, ...] = _facilities()
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
