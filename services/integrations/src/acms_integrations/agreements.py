"""The information-sharing agreements (`agreements.yaml`): which fields each agency may
receive. Loaded once at import; a malformed file stops the service at start, never a
request."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

AGREEMENTS_FILE = Path(__file__).with_name("agreements.yaml")


class Agency(StrEnum):
    IMMIGRATION = "immigration"
    MSD = "msd"
    ORANGA_TAMARIKI = "oranga_tamariki"
    POLICE = "police"


# Every field any agreement may list: a typo in the file is caught at load, not taken as
# a new field some request could then carry.
KNOWN_FIELDS = frozenset(
    {
        "full_name",
        "other_names",
        "date_of_birth",
        "gender",
        "nsn",
        "school_last_attended",
        "last_known_address",
        "last_known_phone",
        "parent_name",
        "parent_date_of_birth",
    }
)


@dataclass(frozen=True)
class Agreement:
    agency: Agency
    name: str
    version: str
    purpose: str
    fields: frozenset[str]

    @property
    def label(self) -> str:
        return f"{self.name} (version {self.version})"


def load(path: Path = AGREEMENTS_FILE) -> dict[Agency, Agreement]:
    document = yaml.safe_load(path.read_text())
    agreements = {}
    for code, entry in document["agreements"].items():
        agency = Agency(code)
        fields = frozenset(entry["fields"])
        if unknown := fields - KNOWN_FIELDS:
            raise ValueError(f"{path}: {code} lists unknown fields {sorted(unknown)}")
        agreements[agency] = Agreement(
            agency, str(entry["name"]), str(entry["version"]), str(entry["purpose"]), fields
        )
    if missing := set(Agency) - set(agreements):
        raise ValueError(f"{path}: no agreement for {sorted(missing)}")
    return agreements


AGREEMENTS = load()


def endpoint_of(settings: object, agency: Agency) -> str:
    """The agency's endpoint, from its setting (`ACMS_AGENCY_<AGENCY>_URL`)."""
    return str(getattr(settings, f"agency_{agency.value}_url"))
