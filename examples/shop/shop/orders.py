"""Orders and their life cycle."""

from dataclasses import dataclass, field


@dataclass
class OrderLine:
    sku: str
    quantity: int
    unit_price: object


@dataclass
class Order:
    number: int
    lines: list = field(default_factory=list)
    status: str = "open"

    def add_line(self, sku, quantity, unit_price):
        if self.status != "open":
            raise RuntimeError(f"order {self.number} is {self.status}")
        self.lines.append(OrderLine(sku, quantity, unit_price))

    def cancel(self):
        if self.status == "shipped":
            raise RuntimeError("a shipped order cannot be cancelled")
        self.status = "cancelled"


def refill_stock(stock, item, amount):
    if amount <= 0:
        raise ValueError("amount must be positive")
    before = stock.get(item, 0)
    stock[item] = before + amount
    return stock[item]


def find_order(orders, number):
    for order in orders:
        if order.number == number:
            return order
    return None
