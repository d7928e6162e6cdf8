"""The rights holder's registry (``registry.yaml``): what is owned, where to look, who is allowed.

Loading validates everything before anything is crawled. Every problem is collected and reported with its
key path (``products[2].images[0]: file not found: /abs/path``) so a rights holder can fix the whole file
in one go; docs/contract.md describes the format. A process reads each registry once (``registry.load``).

- ``model``: the values a registry holds;
- ``yaml_loader``: reading the YAML safely (no alias bombs, no duplicate keys, impossible dates reported);
- ``photos``: the photos, logos and certificates it names, checked when it is loaded;
- ``checker`` and ``sections``: each section read and checked; ``checks``: the warnings;
- ``load``: the per-process cache, and where a crawl finds its registry.
"""

from registry.load import REGISTRY_SETTING, from_settings, load_registry, parse_count, path_from_settings
from registry.model import (
    TRADEMARK_DOCUMENTS,
    Agent,
    AuthorizedSeller,
    Copyright,
    Money,
    Product,
    Registry,
    RegistryError,
    RightsHolder,
    Trademark,
    Watch,
    today_utc,
)
from registry.yaml_loader import MAX_REGISTRY_BYTES

__all__ = [
    "MAX_REGISTRY_BYTES",
    "REGISTRY_SETTING",
    "TRADEMARK_DOCUMENTS",
    "Agent",
    "AuthorizedSeller",
    "Copyright",
    "Money",
    "Product",
    "Registry",
    "RegistryError",
    "RightsHolder",
    "Trademark",
    "Watch",
    "from_settings",
    "load_registry",
    "parse_count",
    "path_from_settings",
    "today_utc",
]
