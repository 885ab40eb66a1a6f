/**
 * Spring Boot auto-configuration of Outlast from {@code outlast.*} properties. Entry point: {@link
 * dev.outlast.spring.OutlastAutoConfiguration}, which Spring Boot finds on its own; applications
 * need only the dependency and their properties.
 */
@NullMarked
package dev.outlast.spring;

import org.jspecify.annotations.NullMarked;
