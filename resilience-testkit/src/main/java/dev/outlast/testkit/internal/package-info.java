/**
 * Not API: plumbing the test kit needs to be public for, such as service-loaded JUnit listeners.
 * Nothing here is stable; do not use it from tests.
 */
@NullMarked
package dev.outlast.testkit.internal;

import org.jspecify.annotations.NullMarked;
