"""Stock levels per product."""


class Inventory:
    """Stock levels keyed by SKU."""

    def __init__(self):
        self.levels = {}
        self.reorder_points = {}

    def restock(self, sku, quantity):
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        current = self.levels.get(sku, 0)
        self.levels[sku] = current + quantity
        return self.levels[sku]

    def take(self, sku, quantity):
        available = self.levels.get(sku, 0)
        if quantity > available:
            raise LookupError(f"only {available} of {sku} in stock")
        self.levels[sku] = available - quantity
        return self.levels[sku]

    def needs_reorder(self):
        """Return the SKUs whose stock fell to or below their reorder point."""
        return sorted(sku for sku, level in self.levels.items() if level <= self.reorder_points.get(sku, 0))
