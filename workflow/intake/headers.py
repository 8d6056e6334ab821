"""The one table of header aliases: every spreadsheet bondtrack reads names its columns here.

Each concept (the key) lists the other ways a header spells it: ours, the court's,
the bond fund's and ICE's own ("Alien File Number", "Stay Book In Date Time"). A
header is matched after lower-casing and turning runs of punctuation and spaces into
one "_", so "A-Number", "a number" and "A_NUMBER" are one spelling. An alias belongs
to one concept only (tests check it); readers pick the concepts they want with
``columns(...)``. New concepts (a class list's stage history, say) are added here.
"""

from __future__ import annotations

from collections.abc import Mapping

ALIASES: dict[str, tuple[str, ...]] = {
    # Who a row is about.
    "a_number": ("a#", "a #", "a_no", "anumber", "alien_number", "alien_no", "alien #",
                 "a number", "alien file number", "a-file number", "a file number"),
    "family_name": ("last_name", "last name", "surname", "apellido", "apellidos", "family name"),
    "given_name": ("first_name", "first name", "given name", "nombre"),
    "date_of_birth": ("dob", "birth_date", "birthdate", "date of birth", "fecha_de_nacimiento"),
    "country_of_birth": ("country", "cob", "nationality", "country of birth", "citizenship",
                         "country of citizenship"),
    "language": ("primary_language", "preferred_language", "idioma"),
    "phone": ("telephone", "phone_number", "contact_phone"),
    "email": ("e_mail", "email_address", "contact_email"),
    "notes": ("note", "comments", "comment"),
    # Where a person is held: a code, a name, or a name with its city and state.
    "facility_code": ("facility", "detention_facility_code", "facility code", "detloc",
                      "detloc code", "current detention facility code"),
    "facility_name": ("detention_facility", "facility name", "current detention facility",
                      "current facility", "detention facility name"),
    "facility_city": ("facility city", "detention facility city"),
    "facility_state": ("facility state", "detention facility state",
                       "detention facility state code"),
    # Custody lists (reconcile).
    "book_in_date": ("book_in", "book in date", "book-in date", "booking_date", "book_in_dt",
                     "stay book in date time", "book in date time", "stay book in date"),
    "book_out_date": ("book_out", "book out date", "book-out date", "book out date time",
                      "stay book out date time", "stay book out date"),
    "release_reason": ("detention release reason", "release reason", "book out reason"),
    "status": ("custody_status", "detention_status"),
    # Bulk updates (apply).
    "action": ("move", "verb"),
    "amount": ("bond_amount",),
    "receipt": ("receipt_number", "i_305", "i305"),
    "method": ("payment_method",),
    "at": ("when", "time", "date"),
    "reason": (),
    "conditions": (),
    "obligor_name": ("obligor",),
    "obligor_phone": (),
    "obligor_email": (),
    "relationship": ("obligor_relationship",),
    "imposed_bond": ("bond_imposed",),  # what ICE imposed at release, checked against the order
    "imposed_conditions": ("conditions_imposed",),
    # Bond events after posting (workflow.bonds.bonds), from the bond fund's spreadsheet.
    "due": ("due_at", "surrender_at", "surrender_date"),
    "outcome": (),
    "designee": ("designee_name",),
    # Facility directories (facility import): ICE's statistics sheet, DETLOC lists, our CSV.
    "name": (),
    "aliases": ("other names", "also known as", "aka"),
    "address": ("street", "street address", "address line 1"),
    "city": ("town",),
    "county": ("parish",),
    "state": ("st",),
    "zip": ("zip code", "zipcode", "postal code"),
    "field_office": ("aor", "area of responsibility", "field office", "ero field office"),
    "time_zone": ("time zone", "tz", "zone"),
    "kind": ("type detailed", "facility type"),
    "source": (),
}


def columns(*concepts: str) -> Mapping[str, tuple[str, ...]]:
    """The aliases of ``concepts``, in that order (a reader's column set)."""
    return {concept: ALIASES[concept] for concept in concepts}
