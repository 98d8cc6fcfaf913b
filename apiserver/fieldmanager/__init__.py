"""Server-side apply and managed fields: `FieldManager` (manager.py) over the typed walks (typed.py), the type
information they need (schema.py) and the `metadata.managedFields` entries (managed.py)."""

from apiserver.fieldmanager.manager import Conflicts, FieldManager

__all__ = ["Conflicts", "FieldManager"]
