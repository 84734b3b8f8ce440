Feature: Audit records and log lines
  Each scenario has its own audit recorder and observed logger, wired into
  the server chain by the suite's Setup.

  Scenario: a successful call is audited
    When I call "inventory.Reserve" with:
      | sku | apple |
      | qty | 2     |
    And I call "health.Check"
    Then an audit record for "inventory.Reserve" with outcome "ok" was written
    And an audit record for "inventory.Reserve" was written with:
      """
      {"side": "server", "phase": "after", "request": {"sku": "apple", "qty": 2}}
      """
    And no audit record for "health.Check" was written
    And a log line at "debug" contains "call" with:
      | command | health.Check |
    And no log line at "warn" or above was written

  Scenario: a failed call is audited and logged at warn
    Given the request headers are:
      | X-Request-Id | audit-1 |
    When I send "POST" to "/inventory/reserve" with:
      | sku | kiwi |
      | qty | 1    |
    Then an audit record for "inventory.Reserve" with outcome "inventory.unknown_sku" was written
    And an audit record for "inventory.Reserve" was written with:
      | request_id  | audit-1 |
      | request.sku | kiwi    |
    And a log line at "warn" contains "inventory.unknown_sku"
    And a log line at "warn" contains "call" with:
      | field      | value                 |
      | command    | inventory.Reserve     |
      | code       | inventory.unknown_sku |
      | request_id | audit-1               |
    And no log line at "error" or above was written
