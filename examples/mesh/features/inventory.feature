Feature: Inventory
  The inventory service keeps stock (apple 100, pear 5) and reserves it.

  Scenario: reserving stock returns a reservation and what remains
    When I call "inventory.Reserve" with:
      """
      {"sku": "apple", "qty": 2}
      """
    Then the call succeeds
    And the response field "reservation_id" is a UUID
    And the response contains:
      """
      {"sku": "apple", "remaining": 98}
      """

  Scenario: the stock reflects reservations
    Given I call "inventory.Reserve" with:
      | sku | pear |
      | qty | 3    |
    When I send "GET" to "/inventory/stock/pear"
    Then the response status is 200
    And the response is:
      """
      {"sku": "pear", "available": 2}
      """

  Scenario: an unknown SKU is not found
    When I call "inventory.Reserve" with:
      """
      {"sku": "kiwi", "qty": 1}
      """
    Then the call fails with code "inventory.unknown_sku"
    And the call fails with status 404
    And the error message is "SKU kiwi is unknown."
    And the error message in "es" is "El SKU kiwi no existe."

  Scenario: reserving more than is left is a conflict
    When I call "inventory.Reserve" with:
      """
      {"sku": "pear", "qty": 6}
      """
    Then the call fails with code "inventory.insufficient_stock"
    And the call fails with status 409
    And the error message is "Only 5 of pear left; 6 requested."

  Scenario: a quantity below one is invalid and names the field
    When I send "POST" to "/inventory/reserve" with:
      """
      {"sku": "apple", "qty": 0}
      """
    Then the response status is 400
    And the response field "code" is "invalid_argument"
    And the response field "fields[0].field" is "qty"
    And the response header "X-Request-Id" is not empty

  Scenario: an invalid request is answered in Spanish, reasons included
    Given the request headers are:
      | Accept-Language | es |
    When I send "POST" to "/inventory/reserve" with:
      """
      {"sku": "", "qty": 0}
      """
    Then the response status is 400
    And the response field "message" is "Solicitud no válida: sku no debe estar vacío; qty debe ser al menos 1."
    And the response field "fields[1].key" is "validate.min"
    And the response field "fields[1].params.min" is "1"

  Scenario: the stock of an unknown SKU is not found over HTTP
    Given the request headers are:
      | Accept-Language | es |
    When I send "GET" to "/inventory/stock/kiwi"
    Then the response status is 404
    And the response field "code" is "inventory.unknown_sku"
    And the response field "message" is "El SKU kiwi no existe."
