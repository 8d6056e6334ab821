"""The immigration courts (EOIR) where released people's hearings are held: facts, with zones.

A hearing is in the immigration court's own city and zone, not the federal
court's: Eloy is in Arizona (no DST), El Paso and Otero keep Mountain time.
Addresses are given only where they are certain; a letter without one tells
the reader to use the address on their hearing notice. Source: EOIR's
immigration court list (justice.gov/eoir/eoir-immigration-court-listing).
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.core.errors import ValidationError


@dataclass(frozen=True)
class Court:
    key: str
    name: str
    city: str
    state: str
    time_zone: str
    address: str | None = None
    aliases: tuple[str, ...] = ()  # other words staff use for it: "krome", "dilley"

    def as_dict(self) -> dict[str, str | None]:
        return {"key": self.key, "name": self.name, "city": self.city, "state": self.state,
                "time_zone": self.time_zone, "address": self.address}


COURTS: tuple[Court, ...] = (
    Court("chicago", "Chicago Immigration Court", "Chicago", "IL", "America/Chicago",
          "525 West Van Buren Street, Suite 500, Chicago, IL 60607"),
    Court("kansas-city", "Kansas City Immigration Court", "Kansas City", "MO", "America/Chicago",
          "2345 Grand Boulevard, Suite 525, Kansas City, MO 64108"),
    Court("detroit", "Detroit Immigration Court", "Detroit", "MI", "America/Detroit",
          "477 Michigan Avenue, Suite 440, Detroit, MI 48226"),
    Court("miami-krome", "Miami Krome Immigration Court", "Miami", "FL", "America/New_York",
          "18201 SW 12th Street, Miami, FL 33194", ("krome", "miami")),
    Court("eloy", "Eloy Immigration Court", "Eloy", "AZ", "America/Phoenix",
          "1705 East Hanna Road, Eloy, AZ 85131"),
    Court("san-antonio", "San Antonio Immigration Court (Dilley hearings)", "San Antonio", "TX",
          "America/Chicago", None, ("dilley",)),
    Court("adelanto", "Adelanto Immigration Court", "Adelanto", "CA", "America/Los_Angeles",
          "10250 Rancho Road, Adelanto, CA 92301"),
    Court("otero", "Otero Immigration Court", "Chaparral", "NM", "America/Denver"),
    Court("el-paso", "El Paso Immigration Court", "El Paso", "TX", "America/Denver"),
    Court("oakdale", "Oakdale Immigration Court", "Oakdale", "LA", "America/Chicago",
          "1900 East Whatley Road, Oakdale, LA 71463"),
    Court("jena", "LaSalle Immigration Court (Jena)", "Jena", "LA", "America/Chicago",
          "830 Pinehill Road, Jena, LA 71342", ("lasalle",)),
)
_BY_KEY = {court.key: court for court in COURTS}


def find(text: str) -> Court:
    """A court by key (``kansas-city``), name or city, any case; else a list of the keys."""
    wanted = " ".join(text.strip().lower().replace("-", " ").split())
    for court in COURTS:
        names = {court.key.replace("-", " "), court.name.lower(), court.city.lower(),
                 *court.aliases}
        if wanted in names:
            return court
    raise ValidationError(f"no immigration court '{text[:40]}': use one of"
                          f" {', '.join(_BY_KEY)}")


def by_key(key: str) -> Court:
    return _BY_KEY[key]
