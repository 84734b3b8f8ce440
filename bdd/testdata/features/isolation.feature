@isolation
Feature: Isolation
  Scenarios run in a random order, each in a fresh world: the fakes,
  the stock and the recorded calls of one are invisible to the others.

  Scenario: the last two pears, once
    When I call "inventory.Reserve" with:
      | sku | pear |
      | qty | 2    |
    Then the call succeeds
    And the store has 0 "pear" left

  Scenario: the last two pears, again
    When I call "inventory.Reserve" with:
      | sku | pear |
      | qty | 2    |
    Then the call succeeds
    And "inventory.Reserve" was called 1 time

  Scenario: a fake in one scenario
    Given "inventory.Reserve" returns:
      """
      {"reservation_id": "fake"}
      """
    When I call "inventory.Reserve" with:
      | sku | apple |
      | qty | 1     |
    Then the response field "reservation_id" is "fake"

  Scenario: no fake in another
    When I call "inventory.Reserve" with:
      | sku | apple |
      | qty | 1     |
    Then the response field "reservation_id" is a UUID
    And no audit record for "orders.Place" was written
