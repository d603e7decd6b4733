// A Curator client for the interop tests of zk.recipes (compiled by the test with javac).
//
//   mutex <connect> <lockPath> <iterations> <counterFile> <markerFile>
//       acquire Curator's InterProcessMutex <iterations> times; inside, claim the marker
//       file (create, which fails if it exists: two holders at once), add 1 to the number
//       in the counter file with a pause between read and write, then free both.
//   hold <connect> <lockPath>
//       acquire the mutex, print "HELD <our node path>", wait for a line on stdin, release.
//   latch <connect> <latchPath> <id>
//       start a LeaderLatch, print "LEADER" when it leads, wait for a line on stdin, close.
//
// Prints "VIOLATION" and exits 2 if the marker was already there.
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.io.*;
import java.util.*;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.RetryNTimes;

public class CuratorLockWorker {
    public static void main(String[] args) throws Exception {
        CuratorFramework client = CuratorFrameworkFactory.builder()
            .connectString(args[1]).sessionTimeoutMs(4000).connectionTimeoutMs(4000)
            .retryPolicy(new RetryNTimes(10, 200)).build();
        client.start();
        client.blockUntilConnected();
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in));
        switch (args[0]) {
            case "mutex": {
                InterProcessMutex mutex = new InterProcessMutex(client, args[2]);
                int n = Integer.parseInt(args[3]);
                Path counter = Paths.get(args[4]), marker = Paths.get(args[5]);
                for (int i = 0; i < n; i++) {
                    mutex.acquire();
                    try {
                        try {
                            Files.createFile(marker);
                        } catch (FileAlreadyExistsException e) {
                            System.out.println("VIOLATION");
                            System.out.flush();
                            System.exit(2);
                        }
                        int value = Integer.parseInt(new String(Files.readAllBytes(counter), StandardCharsets.UTF_8).trim());
                        Thread.sleep(3);
                        Files.write(counter, Integer.toString(value + 1).getBytes(StandardCharsets.UTF_8));
                        Files.delete(marker);
                    } finally {
                        mutex.release();
                    }
                }
                System.out.println("DONE");
                break;
            }
            case "hold": {
                InterProcessMutex mutex = new InterProcessMutex(client, args[2]);
                mutex.acquire();
                List<String> nodes = new ArrayList<>(mutex.getParticipantNodes());
                System.out.println("HELD " + nodes.get(0));
                System.out.flush();
                stdin.readLine();
                mutex.release();
                System.out.println("RELEASED");
                break;
            }
            case "latch": {
                LeaderLatch latch = new LeaderLatch(client, args[2], args[3]);
                latch.start();
                latch.await();
                System.out.println("LEADER");
                System.out.flush();
                stdin.readLine();
                latch.close();
                break;
            }
            default:
                throw new IllegalArgumentException(args[0]);
        }
        System.out.flush();
        client.close();
    }
}
