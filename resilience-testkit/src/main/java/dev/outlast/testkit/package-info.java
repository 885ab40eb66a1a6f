/**
 * Real servers for tests, broken on purpose, and a TCP fault proxy.
 *
 * <p>Entry points: {@link dev.outlast.testkit.MariaDbServer}, {@link
 * dev.outlast.testkit.PostgresServer}, {@link dev.outlast.testkit.PulsarServer} and {@link
 * dev.outlast.testkit.OpenSearchServer} (all {@link dev.outlast.testkit.TestServer}s, which a test
 * kills, freezes, thaws, stops and restarts), and {@link dev.outlast.testkit.FaultProxy}, which
 * sits between a client and any server and refuses, cuts, blackholes or delays its connections.
 * Load to break them under: {@link dev.outlast.testkit.SteadyStream} (one paced stream) and {@link
 * dev.outlast.testkit.Callers} (a crowd of threads, every call timed).
 *
 * <p>Every server runs as a child process on a random loopback port in a temporary directory (in
 * {@code java.io.tmpdir}), and its processes get a temp directory inside it ({@code TMPDIR}, and
 * {@code -Djava.io.tmpdir} for child JVMs); {@code close()} leaves no process and no file behind,
 * and a watchdog cleans up after a test JVM that died. Binaries are unpacked once per machine into
 * {@code $TMPDIR/outlast-testkit-binaries} ({@code /tmp} when unset), shared by every build. The
 * kit's JUnit listener creates a missing {@code java.io.tmpdir} before the first test, so a build
 * can give each test JVM a fresh one. Needs Linux (the binaries are Linux x86-64) and {@code
 * /bin/sh}; as root, PostgreSQL runs as {@code nobody} through {@code setpriv}.
 */
@NullMarked
package dev.outlast.testkit;

import org.jspecify.annotations.NullMarked;
