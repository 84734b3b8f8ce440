Feature: Fakes and recorded calls
  A scenario can put canned responses, canned errors or named fakes in
  place of commands and dependencies, and check how commands were called.
  Every fake disappears with its scenario.

  Scenario: a canned response
    Given "inventory.Reserve" returns:
      """
      {"reservation_id": "r-1", "sku": "apple", "qty": 1}
      """
    When I call "orders.Place" with:
      """
      {"items": [{"sku": "apple", "qty": 1}]}
      """
    Then the response field "items[0].reservation_id" is "r-1"
    And "inventory.Reserve" was called 1 time
    And "inventory.Reserve" was called with:
      """
      {"sku": "apple"}
      """
    And the store has 10 "apple" left

  Scenario: a canned response given as a table
    Given "inventory.Reserve" returns:
      | reservation_id | r-2        |
      | tags           | ["a", "b"] |
    When I call "inventory.Reserve" with:
      | sku | apple |
      | qty | 1     |
    Then the response is:
      """
      {"reservation_id": "r-2", "sku": "", "qty": 0, "left": 0, "tags": ["a", "b"]}
      """
    And the response field "tags[1]" is "b"

  Scenario: a canned error with parameters
    Given "inventory.Reserve" fails with code "inventory.out_of_stock" and params:
      | name      | value |
      | sku       | apple |
      | available | 0     |
    When I call "orders.Place" with:
      """
      {"items": [{"sku": "apple", "qty": 1}]}
      """
    Then the call fails with code "inventory.out_of_stock"
    And the call fails with status 409
    And the error message is "Only 0 of apple left."
    And the error message in "es" is "Solo quedan 0 de apple."

  Scenario: a canned error of a kind
    Given "inventory.Reserve" fails with code "unavailable"
    When I call "inventory.Reserve" with:
      | sku | apple |
      | qty | 1     |
    Then the call fails with status 503
    And the call fails with code "unavailable"

  Scenario: the real command, recorded
    Given "inventory.Reserve" is recorded
    When I call "orders.Place" with:
      """
      {"items": [{"sku": "apple", "qty": 1}, {"sku": "pear", "qty": 2}]}
      """
    Then the call succeeds
    And "inventory.Reserve" was called 2 times
    And "inventory.Reserve" was called with:
      | sku | pear |
      | qty | 2    |
    And "orders.Place" was called 1 time
    And "health.Check" was not called
    And the store has 0 "pear" left

  Scenario: a dependency replaced by a named fake
    Given the dependency "inventory.store" is replaced by "empty store"
    When I call "inventory.Reserve" with:
      | sku | apple |
      | qty | 1     |
    Then the call fails with code "inventory.unknown_sku"

  Scenario: a command replaced by a typed fake
    Given "inventory.Reserve" is replaced by "out of stock"
    When I call "orders.Place" with:
      """
      {"items": [{"sku": "pear", "qty": 1}]}
      """
    Then the call fails with code "inventory.out_of_stock"
    And the error message is "Only 0 of pear left."

  Scenario: a command replaced by an untyped fake
    Given "inventory.Reserve" is replaced by "echo"
    When I call "inventory.Reserve" with:
      | sku | pear |
      | qty | 5    |
    Then the response contains:
      """
      {"reservation_id": "echo-pear", "qty": 5}
      """
