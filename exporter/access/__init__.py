"""Who may export what, and how often.

- ``keys``: API keys (hashed, compared in constant time), the keys file, and which exports each
  key may use.
- ``limits``: request rates and concurrent exports, per key and per replica.
"""

__all__ = ["keys", "limits"]
