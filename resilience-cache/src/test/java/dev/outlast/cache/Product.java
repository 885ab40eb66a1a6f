package dev.outlast.cache;

import dev.outlast.core.spi.Codec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.ResultSet;
import java.sql.SQLException;

/** A row of the test table, and its codec for the snapshot. */
record Product(long id, String name, String price) {
  static final String BY_ID = "SELECT id, name, price FROM product WHERE id = ?";

  static Product map(ResultSet rs) throws SQLException {
    return new Product(rs.getLong(1), rs.getString(2), rs.getBigDecimal(3).toPlainString());
  }

  static final Codec<Product> CODEC =
      new Codec<>() {
        @Override
        public byte[] encode(Product p) {
          ByteArrayOutputStream bytes = new ByteArrayOutputStream();
          try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(p.id());
            out.writeUTF(p.name());
            out.writeUTF(p.price());
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          return bytes.toByteArray();
        }

        @Override
        public Product decode(byte[] bytes) {
          try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            return new Product(in.readLong(), in.readUTF(), in.readUTF());
          } catch (IOException e) {
            throw new IllegalArgumentException("not a product", e);
          }
        }
      };
}
