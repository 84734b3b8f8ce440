Feature: Shipping
  Orders publishes orders.OrderPlaced for every order it places; shipping
  receives it and makes one shipment per order, which GET
  /shipments/{order_id} returns.

  Scenario: placing an order creates a shipment
    When I send "POST" to "/orders" with:
      """
      {"sku": "apple", "qty": 2}
      """
    Then the response status is 201
    And an event "orders.OrderPlaced" was published with:
      """
      {"sku": "apple", "qty": 2}
      """
    And the subscriber "shipping.OnOrderPlaced" received 1 event
    And the subscriber "shipping.OnOrderPlaced" received an event with:
      | sku | apple |
      | qty | 2     |

  Scenario: the shipment of an order is served
    When I call "orders.OrderPlaced" with:
      """
      {"order_id": "o-42", "sku": "pear", "qty": 1, "reservation_id": "r-1", "placed_at": "2026-01-02T03:04:05Z"}
      """
    And I send "GET" to "/shipments/o-42"
    Then the response status is 200
    And the response contains:
      """
      {"order_id": "o-42", "sku": "pear", "qty": 1, "reservation_id": "r-1"}
      """
    And the response field "created_at" is not empty

  Scenario: no shipment before its event
    When I send "GET" to "/shipments/o-none"
    Then the response status is 404
    And the response field "code" is "shipping.not_found"
    And the response field "message" is "No shipment for order o-none."

  Scenario: a redelivered event creates nothing twice
    When I call "orders.OrderPlaced" with:
      | order_id | o-7   |
      | sku      | apple |
      | qty      | 3     |
    And I call "orders.OrderPlaced" with:
      | order_id | o-7   |
      | sku      | apple |
      | qty      | 5     |
    And I send "GET" to "/shipments/o-7"
    Then the response field "qty" is "3"
    And the subscriber "shipping.OnOrderPlaced" received 2 events

  Scenario: an order that fails publishes nothing
    When I send "POST" to "/orders" with:
      """
      {"sku": "pear", "qty": 50}
      """
    Then the response status is 409
    And no event "orders.OrderPlaced" was published
    And the subscriber "shipping.OnOrderPlaced" received 0 events
