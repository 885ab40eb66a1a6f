package dev.outlast.examples.spring;

import java.io.IOException;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /orders}: 202 once the order is safe, stored in the index or held in the spill queue
 * on local disk; 400 for an order that cannot be stored ({@link OutageAdvice}).
 */
@RestController
class OrderController {
  private final OrderEvents events;

  OrderController(OrderEvents events) {
    this.events = events;
  }

  @PostMapping("/orders")
  ResponseEntity<Map<String, String>> place(@RequestBody Order order) throws IOException {
    Order valid = order.validated();
    events.placed(valid);
    return ResponseEntity.status(HttpStatus.ACCEPTED).body(Map.of("orderId", valid.orderId()));
  }
}
