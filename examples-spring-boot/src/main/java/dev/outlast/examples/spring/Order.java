package dev.outlast.examples.spring;

import dev.outlast.core.spi.Codec;
import java.util.regex.Pattern;
import tools.jackson.databind.json.JsonMapper;

/**
 * An order event, as the client posts it and as it is stored in the {@code orders} index.
 *
 * @param orderId the client's id for the order; the index keeps one document per id, so an order
 *     posted or delivered twice is stored once
 * @param account who ordered
 * @param sku what
 * @param quantity how many
 */
record Order(String orderId, String account, String sku, int quantity) {
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** Events in the spill queue's journal: the order's JSON, the same bytes the index gets. */
  static final Codec<Order> CODEC =
      new Codec<>() {
        @Override
        public byte[] encode(Order order) {
          return JSON.writeValueAsBytes(order);
        }

        @Override
        public Order decode(byte[] bytes) {
          return JSON.readValue(bytes, Order.class).validated();
        }

        @Override
        public String toString() {
          return "Order.CODEC (JSON)";
        }
      };

  /**
   * This order if it can be stored.
   *
   * @throws IllegalArgumentException naming the field that is missing or wrong
   */
  Order validated() {
    // Jackson leaves fields the client left out as null, whatever the record declares.
    if (orderId == null || account == null || sku == null) {
      throw new IllegalArgumentException("orderId, account and sku are required");
    }
    if (!ID.matcher(orderId).matches()) {
      throw new IllegalArgumentException(
          "orderId must be 1-64 letters, digits, '-' or '_': it is the document's id");
    }
    if (quantity < 1) {
      throw new IllegalArgumentException("quantity must be at least 1, was " + quantity);
    }
    return this;
  }

  /** The order as the JSON document the index stores. */
  String json() {
    return JSON.writeValueAsString(this);
  }
}
