// Shopping-cart helpers for the shop's web front end.

/** Sum the price of every item in the cart, in cents. */
function cartTotal(items) {
  let total = 0;
  for (const item of items) {
    total += item.priceCents * item.quantity;
  }
  return total;
}

function removeItem(items, sku) {
  return items.filter((item) => item.sku !== sku);
}

class Cart {
  constructor() {
    this.items = [];
  }

  add(sku, priceCents, quantity) {
    const existing = this.items.find((item) => item.sku === sku);
    if (existing) {
      existing.quantity += quantity;
    } else {
      this.items.push({ sku, priceCents, quantity });
    }
  }
}

module.exports = { cartTotal, removeItem, Cart };
