/**
 * A small Spring Boot web service wired with Outlast: products read from MySQL through a query
 * cache, order events published to Elasticsearch through a spill queue, and account history read
 * from the event store with the ledger as its fallback. {@link
 * dev.outlast.examples.spring.ShopApplication} is the entry point; {@code ServiceUnderOutageTest}
 * runs it against real servers while they are killed and frozen.
 */
@NullMarked
package dev.outlast.examples.spring;

import org.jspecify.annotations.NullMarked;
