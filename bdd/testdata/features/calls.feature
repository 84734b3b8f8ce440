Feature: Calling commands by name
  Steps call commands in the scenario's own copy of the catalog, through
  their middleware chains, and check the response or the error.

  Scenario: a reservation requested with a JSON document
    When I call "inventory.Reserve" with:
      """
      {"sku": "apple", "qty": 2}
      """
    Then the call succeeds
    And the response contains:
      """
      {"sku": "apple", "qty": 2, "left": 8}
      """
    And the response field "reservation_id" is a UUID
    And the response field "reservation_id" is not empty
    And the response field "qty" is "2"
    And the response field "sku" is "apple"
    And the response field "tags" is absent
    And the store has 8 "apple" left

  Scenario: a reservation requested with a table
    When I call "inventory.Reserve" with:
      | field | value |
      | sku   | pear  |
      | qty   | 1     |
    Then the response field "left" is "1"

  Scenario: nested requests and responses
    When I call "orders.Place" with:
      | items[0].sku | apple |
      | items[0].qty | 1     |
      | items[1].sku | pear  |
      | items[1].qty | 2     |
    Then the response contains:
      """
      {"order_id": "o-1", "items": [{"sku": "apple", "qty": 1}, {"sku": "pear", "qty": 2}]}
      """
    And the response field "items[1].reservation_id" is a UUID
    And the response field "items[0].qty" is "1"
    And the store has 0 "pear" left

  Scenario: a command without a request
    When I call "health.Check"
    Then the response is:
      """
      {"status": "ok"}
      """
    And the response is:
      | status | ok |

  Scenario: an unknown SKU
    When I call "inventory.Reserve" with:
      """
      {"sku": "kiwi", "qty": 1}
      """
    Then the call fails with code "inventory.unknown_sku"
    And the call fails with status 404
    And the error message is "SKU kiwi is unknown."
    And the error message in "es" is "El SKU kiwi no existe."
    And the error message in "es-MX" is "El SKU kiwi no existe."
    And the error message in "fr" is "SKU kiwi is unknown."

  Scenario: an invalid request
    When I call "inventory.Reserve" with:
      | sku | apple |
      | qty | 0     |
    Then the call fails with code "invalid_argument"
    And the call fails with status 400
