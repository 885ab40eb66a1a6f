/**
 * Runnable examples of Outlast: the outage drill and a sample service. They use the test kit's real
 * servers, so they need nothing installed.
 */
@NullMarked
package dev.outlast.examples;

import org.jspecify.annotations.NullMarked;
