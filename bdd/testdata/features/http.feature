Feature: HTTP
  Requests go to the application's HTTP handler, in memory, or to a
  running service; the response steps check their bodies too.

  Scenario: a reservation over HTTP
    When I send "POST" to "/inventory/reserve" with:
      """
      {"sku": "apple", "qty": 3}
      """
    Then the response status is 201
    And the call succeeds
    And the response header "X-Request-Id" is not empty
    And the response header "Content-Type" is "application/json; charset=utf-8"
    And the response field "reservation_id" is a UUID
    And the response contains:
      """
      {"sku": "apple", "qty": 3, "left": 7}
      """
    And "inventory.Reserve" was called 1 time

  Scenario: headers and a localized error body
    Given the request headers are:
      | header          | value     |
      | X-Request-Id    | bdd-req-1 |
      | Accept-Language | es        |
    When I send "POST" to "/inventory/reserve" with:
      | sku | kiwi |
      | qty | 1    |
    Then the response status is 404
    And the call fails with code "inventory.unknown_sku"
    And the call fails with status 404
    And the error message is "El SKU kiwi no existe."
    And the error message in "en" is "SKU kiwi is unknown."
    And the response header "X-Request-Id" is "bdd-req-1"
    And the response contains:
      """
      {"code": "inventory.unknown_sku", "request_id": "bdd-req-1", "params": {"sku": "kiwi"}}
      """

  Scenario: a GET with a path parameter
    When I send "GET" to "/orders/o-1"
    Then the response status is 200
    And the response is:
      """
      {"id": "o-1", "status": "placed"}
      """

  Scenario: a fake seen through the transport
    Given "inventory.Reserve" returns:
      """
      {"reservation_id": "r-http"}
      """
    When I send "POST" to "/inventory/reserve" with:
      """
      {"sku": "apple", "qty": 1}
      """
    Then the response status is 201
    And the response field "reservation_id" is "r-http"

  Scenario: nothing at the path
    When I send "GET" to "/nowhere"
    Then the call fails with code "http.not_found"
    And the response status is 404

  Scenario: a running service
    Given the service at "${BDD_TEST_SERVICE_URL}"
    When I send "POST" to "/inventory/reserve" with:
      """
      {"sku": "apple", "qty": 1}
      """
    Then the response status is 201
    And the response header "X-Request-Id" is not empty
    And the response field "sku" is "apple"
    And "inventory.Reserve" was not called
