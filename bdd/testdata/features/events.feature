Feature: Events
  Each scenario runs an in-process, synchronous event bus: what a command
  publishes reaches the subscribers of the scenario's catalog before the
  call returns.

  Scenario: a published event reaches its subscriber
    When I call "orders.Confirm" with:
      | order_id | o-1 |
      | qty      | 2   |
    Then the call succeeds
    And an event "orders.Confirmed" was published
    And an event "orders.Confirmed" was published with:
      """
      {"order_id": "o-1", "qty": 2}
      """
    And the subscriber "shipping.OnConfirmed" received 1 event
    And the subscriber "shipping.OnConfirmed" received an event with:
      | order_id | o-1 |

  Scenario: nothing published, nothing received
    When I call "health.Check"
    Then no event "orders.Confirmed" was published
    And the subscriber "shipping.OnConfirmed" received 0 events

  Scenario: a fake subscriber receives the event
    Given "shipping.OnConfirmed" fails with code "unavailable"
    When I call "orders.Confirm" with:
      | order_id | o-2 |
    Then the call succeeds
    And the subscriber "shipping.OnConfirmed" received an event with:
      | order_id | o-2 |
