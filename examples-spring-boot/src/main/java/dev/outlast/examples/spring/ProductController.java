package dev.outlast.examples.spring;

import java.sql.SQLException;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /products/{id}}: 200 with the product, 404 if there is none. */
@RestController
class ProductController {
  private final ProductRepository products;

  ProductController(ProductRepository products) {
    this.products = products;
  }

  @GetMapping("/products/{id}")
  ResponseEntity<Product> product(@PathVariable long id) throws SQLException {
    return ResponseEntity.of(products.findById(id));
  }
}
