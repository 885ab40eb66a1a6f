package dev.outlast.core.fallback;

import dev.outlast.core.jdbc.JdbcEventSource;
import dev.outlast.core.spi.EventStore;
import dev.outlast.core.spi.StreamEvent;
import java.nio.file.Path;
import java.util.List;
import org.mariadb.jdbc.MariaDbDataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A rebuild in a child JVM, for {@link RebuildTest} to kill with SIGKILL in the middle. Each batch
 * is followed by a short pause, so that the kill lands between and inside batches.
 *
 * <p>Arguments: store URL, user, password; ledger URL, user, password; archive directory; stream;
 * batch size; pause after each batch in ms.
 */
final class RebuildMain {
  private RebuildMain() {}

  public static void main(String[] args) throws Exception {
    PGSimpleDataSource pg = new PGSimpleDataSource();
    pg.setUrl(args[0]);
    pg.setUser(args[1]);
    pg.setPassword(args[2]);
    MariaDbDataSource maria = new MariaDbDataSource();
    maria.setUrl(args[3]);
    maria.setUser(args[4]);
    maria.setPassword(args[5]);
    long pause = Long.parseLong(args[9]);
    JdbcEventSource jdbc = JdbcEventSource.builder(pg).build();
    EventStore slow =
        new EventStore() {
          @Override
          public void append(List<StreamEvent> events) throws Exception {
            jdbc.append(events);
            Thread.sleep(pause);
          }

          @Override
          public List<StreamEvent> read(String stream, long fromSequence, int limit)
              throws Exception {
            return jdbc.read(stream, fromSequence, limit);
          }

          @Override
          public long highWaterMark(String stream) throws Exception {
            return jdbc.highWaterMark(stream);
          }
        };
    Rebuilder rebuilder =
        RebuildTest.rebuilder(
            slow,
            DirectoryArchive.in(Path.of(args[6])),
            JdbcEventSource.builder(maria).build(),
            Integer.parseInt(args[8]));
    System.out.println("rebuilt " + rebuilder.rebuild(args[7]));
  }
}
