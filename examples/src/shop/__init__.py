"""A tiny shop: a catalogue, an inventory, orders and payments."""
