// The kit's HDFS server (emulators/hdfs.py): Hadoop's MiniDFSCluster, one NameNode and one
// DataNode, in this JVM. Compiled into the tool cache by the bootstrap (emulators/tools.py).
//
// Usage: java MiniHdfs <namenode-port> <data-dir>; environment ARTCONF_HDFS_SIGNATURE (the
// token the readiness probe reads back from /.artconf/signature) and ARTCONF_HDFS_USERS (the
// users that get a home directory, comma-separated). Prints "artconf-hdfs ready" when up; stops
// the cluster on SIGTERM (a shutdown hook), deleting nothing outside <data-dir>.

import java.io.File;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

public final class MiniHdfs {
  private MiniHdfs() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: MiniHdfs <namenode-port> <data-dir>");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    File base = new File(args[1]).getAbsoluteFile();
    String signature = System.getenv("ARTCONF_HDFS_SIGNATURE");
    if (signature == null || signature.isEmpty()) {
      System.err.println("MiniHdfs: ARTCONF_HDFS_SIGNATURE is not set");
      System.exit(2);
    }

    Configuration conf = new HdfsConfiguration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getPath());
    conf.set("hadoop.tmp.dir", new File(base, "tmp").getPath()); // never /tmp
    conf.setInt("dfs.replication", 1);
    conf.setBoolean("dfs.permissions.enabled", true); // so the client's user (hdfsUser) matters
    conf.set("hadoop.security.authentication", "simple");
    // Every listener on loopback; only the NameNode RPC port is chosen by the kit.
    conf.set("dfs.namenode.rpc-address", "127.0.0.1:" + port);
    conf.set("dfs.namenode.http-address", "127.0.0.1:0");
    conf.set("dfs.datanode.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    conf.set("dfs.datanode.http.address", "127.0.0.1:0");
    // A small block size keeps multi-block files (a few MiB) cheap to test.
    conf.setLong("dfs.blocksize", 1024 * 1024);
    conf.setLong("dfs.namenode.fs-limits.min-block-size", 1024);

    MiniDFSCluster cluster =
        new MiniDFSCluster.Builder(conf, base)
            .nameNodePort(port)
            .numDataNodes(1)
            .format(true)
            .checkDataNodeAddrConfig(true)
            .build();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("artconf-hdfs stopping");
                  cluster.shutdown();
                }));
    cluster.waitActive();

    FileSystem fs = cluster.getFileSystem();
    Path marker = new Path("/.artconf/signature");
    fs.mkdirs(marker.getParent(), new FsPermission((short) 0700));
    try (OutputStream out = fs.create(marker, true)) {
      out.write(signature.getBytes(StandardCharsets.UTF_8));
    }
    String users = System.getenv("ARTCONF_HDFS_USERS");
    if (users != null) {
      for (String user : users.split(",")) {
        if (user.isEmpty()) {
          continue;
        }
        Path home = new Path("/user/" + user);
        fs.mkdirs(home);
        fs.setOwner(home, user, null);
      }
    }
    System.out.println("artconf-hdfs ready on 127.0.0.1:" + port);
    System.out.flush();
    Thread.currentThread().join(); // until SIGTERM runs the shutdown hook
  }
}
