"""Personal-data handling: erasure of one customer's personal data (``crmwh erase``)."""
