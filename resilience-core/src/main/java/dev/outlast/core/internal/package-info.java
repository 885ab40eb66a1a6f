/**
 * Not API: helpers that Outlast's own modules share across packages and modules (today {@link
 * dev.outlast.core.internal.PrivateFiles}, the one way Outlast writes a file). Public only because
 * Java has no narrower visibility across modules; may change or go without notice. Do not use it
 * from applications.
 */
@NullMarked
package dev.outlast.core.internal;

import org.jspecify.annotations.NullMarked;
