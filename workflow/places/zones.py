"""A facility's time zone from its state and county: several states are split.

Most of a state keeps one zone (workflow/places/posting.py's STATE_ZONES); the counties
below keep the other, as the boundaries of 49 CFR part 71 draw them. Where the IANA
database names a county in a zone of its own (Oliver ND, Wayne KY, Starke IN...),
tests/places/test_facilities.py checks that these lists keep the same clock. Where a county
is split itself (Gulf FL, Cherry NE, Dunn and McKenzie ND, Idaho County ID) the
directory row carries its own zone, which always wins.
"""

from __future__ import annotations

from workflow.places.posting import zone_for_state

_CT, _MT, _ET, _PT = "America/Chicago", "America/Denver", "America/New_York", "America/Los_Angeles"

# (state, county) → zone, for the counties that keep their state's other zone.
_MINORITY = {
    "IN": (_CT, ("Lake", "Porter", "LaPorte", "La Porte", "Newton", "Jasper", "Starke",
                 "Gibson", "Posey", "Vanderburgh", "Warrick", "Spencer", "Perry")),
    "KY": (_CT, ("Adair", "Allen", "Ballard", "Barren", "Breckinridge", "Butler", "Caldwell",
                 "Calloway", "Carlisle", "Christian", "Clinton", "Crittenden", "Cumberland",
                 "Daviess", "Edmonson", "Fulton", "Graves", "Grayson", "Green", "Hancock", "Hart",
                 "Henderson", "Hickman", "Hopkins", "Livingston", "Logan", "Lyon", "McCracken",
                 "McLean", "Marshall", "Metcalfe", "Monroe", "Muhlenberg", "Ohio", "Russell",
                 "Simpson", "Todd", "Trigg", "Union", "Warren", "Webster")),
    "TN": (_ET, ("Anderson", "Blount", "Bradley", "Campbell", "Carter", "Claiborne", "Cocke",
                 "Grainger", "Greene", "Hamblen", "Hamilton", "Hancock", "Hawkins", "Jefferson",
                 "Johnson", "Knox", "Loudon", "McMinn", "Meigs", "Monroe", "Morgan", "Polk",
                 "Rhea", "Roane", "Scott", "Sevier", "Sullivan", "Unicoi", "Union",
                 "Washington")),
    "FL": (_CT, ("Escambia", "Santa Rosa", "Okaloosa", "Walton", "Holmes", "Washington", "Bay",
                 "Jackson", "Calhoun")),
    "MI": (_CT, ("Gogebic", "Iron", "Dickinson", "Menominee")),
    "KS": (_MT, ("Greeley", "Hamilton", "Sherman", "Wallace")),
    "TX": (_MT, ("El Paso", "Hudspeth")),
    "OR": ("America/Boise", ("Malheur",)),
    "NE": (_MT, ("Scotts Bluff", "Banner", "Kimball", "Cheyenne", "Box Butte", "Dawes",
                 "Sioux", "Sheridan", "Morrill", "Garden", "Deuel", "Keith", "Perkins", "Chase",
                 "Dundy", "Arthur", "Grant")),
    "SD": (_MT, ("Pennington", "Meade", "Lawrence", "Custer", "Fall River", "Butte",
                 "Harding", "Perkins", "Ziebach", "Haakon", "Jackson", "Oglala Lakota",
                 "Bennett", "Corson", "Dewey", "Stanley")),
    "ND": (_MT, ("Adams", "Billings", "Bowman", "Golden Valley", "Grant", "Hettinger",
                 "Slope", "Stark", "Sioux")),
    "ID": (_PT, ("Benewah", "Bonner", "Boundary", "Clearwater", "Kootenai", "Latah", "Lewis",
                 "Nez Perce", "Shoshone")),
}
# States whose counties do not all keep one zone (Arizona is one zone, without DST).
SPLIT_STATES = frozenset(_MINORITY)


def _county_key(county: str) -> str:
    text = county.upper().replace(".", "").replace("SAINT ", "ST ")
    for suffix in (" COUNTY", " PARISH", " CO"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return " ".join(text.split())


_BY_COUNTY = {(state, _county_key(county)): zone
              for state, (zone, counties) in _MINORITY.items() for county in counties}


def zone_for(state: str | None, county: str | None) -> str | None:
    """The IANA zone of a county in a state (``KS``, ``Hamilton`` → America/Denver)."""
    if not state:
        return None
    state = state.strip().upper()
    if county:
        zone = _BY_COUNTY.get((state, _county_key(county)))
        if zone:
            return zone
    return zone_for_state(state)
