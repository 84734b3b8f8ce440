Feature: Orders
  Placing an order reserves its stock in inventory; inventory's errors
  reach the caller with inventory's code and status.

  Scenario: placing an order
    When I send "POST" to "/orders" with:
      """
      {"sku": "apple", "qty": 2}
      """
    Then the response status is 201
    And the response field "order_id" is a UUID
    And the response field "reservation_id" is a UUID
    And the response contains:
      """
      {"sku": "apple", "qty": 2}
      """
    And "inventory.Reserve" was called with:
      | sku | apple |
      | qty | 2     |

  Scenario: an unknown order is not found
    When I send "GET" to "/orders/no-such-order"
    Then the response status is 404
    And the response field "code" is "orders.not_found"
    And the response field "message" is "Order no-such-order does not exist."

  Scenario: inventory's errors pass through with its code and status
    When I send "POST" to "/orders" with:
      """
      {"sku": "pear", "qty": 50}
      """
    Then the response status is 409
    And the response field "code" is "inventory.insufficient_stock"
    And the response field "params.available" is "5"

  Scenario: an unknown SKU fails the order
    When I call "orders.Place" with:
      | sku | kiwi |
      | qty | 1    |
    Then the call fails with code "inventory.unknown_sku"
    And the call fails with status 404
    And "orders.Get" was not called

  Scenario: orders works with a fake inventory
    Given "inventory.Reserve" returns:
      """
      {"reservation_id": "r-fake", "sku": "apple", "remaining": 1}
      """
    When I call "orders.Place" with:
      | sku | apple |
      | qty | 2     |
    Then the response field "reservation_id" is "r-fake"
    And "inventory.Reserve" was called 1 time

  Scenario: inventory being unavailable is a retryable error for the caller
    Given "inventory.Reserve" fails with code "unavailable"
    When I send "POST" to "/orders" with:
      """
      {"sku": "apple", "qty": 1}
      """
    Then the response status is 503
    And the response field "code" is "unavailable"
    And the response field "request_id" is not empty
