Feature: A step nobody defined
  Scenario: the warp core
    When I call "health.Check"
    And I frobnicate the warp core
    Then the call succeeds
