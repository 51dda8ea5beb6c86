"""HTTP layer: parse + validate -> call a service -> serialize. No business logic here."""
