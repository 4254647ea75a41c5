"""A toy shop: pricing, inventory and orders."""
