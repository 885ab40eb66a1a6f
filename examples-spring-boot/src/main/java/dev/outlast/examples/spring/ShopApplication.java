package dev.outlast.examples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The shop: {@code GET /products/{id}}, {@code POST /orders}, {@code GET /history/{account}}, and
 * Actuator's health, probes and Prometheus endpoints. Where it finds its servers is in {@code
 * application.yml} ({@code shop.*}); how it rides out their outages, under {@code outlast.*}.
 */
@SpringBootApplication
public class ShopApplication {
  /** For Spring. */
  public ShopApplication() {}

  /**
   * Runs the service until it is stopped.
   *
   * @param args Spring Boot arguments, such as {@code --server.port=8080}
   */
  public static void main(String[] args) {
    SpringApplication.run(ShopApplication.class, args);
  }
}
