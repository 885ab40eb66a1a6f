package dev.outlast.examples.spring;

/**
 * A product as the catalog table holds it.
 *
 * @param id its key
 * @param name what it is called
 * @param priceCents its price, in cents
 */
record Product(long id, String name, long priceCents) {}
