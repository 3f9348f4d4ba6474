package localnode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.geo.GeoModulePlugin;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.ingest.common.IngestCommonPlugin;
import org.opensearch.ingest.useragent.IngestUserAgentPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node in this JVM, with the modules the product relies on loaded from the classpath.
 *
 * Arguments are node settings as key=value (path.home is required; path.data, http.port, ... optional).
 * Defaults: single-node discovery, bound to 127.0.0.1 only. Logs go to standard output, which the
 * launcher (scripts/opensearch_node.py) keeps in a file. With --exit-on-stdin-eof the node also stops
 * when its standard input closes, so it never outlives a launcher that was killed.
 */
public final class LocalNode {

    static final List<Class<? extends Plugin>> MODULES = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        MapperExtrasPlugin.class,
        IngestCommonPlugin.class,
        IngestUserAgentPlugin.class,
        PainlessPlugin.class,
        ReindexPlugin.class,
        GeoModulePlugin.class);

    static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment) {
            super(environment, MODULES, true);
        }

        @Override
        protected void configureNodeAndClusterIdStateListener(ClusterService clusterService) {
            // the node-name log pattern converter is not in use here
        }
    }

    public static void main(String[] args) throws Exception {
        boolean exitOnStdinEof = false;
        Settings.Builder builder = Settings.builder()
            .put("cluster.name", "access-logs-local")
            .put("node.name", "local")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", "9200")
            .put("transport.port", "9300-9400")
            .put("action.destructive_requires_name", "false")
            .put("cluster.routing.allocation.disk.threshold_enabled", "false");
        for (String arg : args) {
            if (arg.equals("--exit-on-stdin-eof")) {
                exitOnStdinEof = true;
                continue;
            }
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                System.err.println("LocalNode: arguments are key=value node settings, got: " + arg);
                System.exit(2);
            }
            builder.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        Settings settings = builder.build();
        String home = settings.get("path.home");
        if (home == null) {
            System.err.println("LocalNode: path.home=<folder> is required");
            System.exit(2);
        }
        Path config = Paths.get(home, "config");
        Files.createDirectories(config);
        if (!settings.hasValue("path.data")) {
            settings = Settings.builder().put(settings).put("path.data", Paths.get(home, "data").toString()).build();
        }
        if (!settings.hasValue("path.logs")) {
            settings = Settings.builder().put(settings).put("path.logs", Paths.get(home, "logs").toString()).build();
        }

        try (InputStream log4j = LocalNode.class.getResourceAsStream("/localnode-log4j2.properties")) {
            Files.copy(log4j, config.resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
        }
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(settings.get("node.name"));
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), config, () -> "local");
        LogConfigurator.configure(environment);
        Node node = new ClasspathNode(environment);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException e) {
                System.err.println("LocalNode: error while stopping: " + e);
            } finally {
                stopped.countDown();
            }
        }, "local-node-shutdown"));

        node.start();
        System.out.println("LocalNode: started");
        System.out.flush();

        if (exitOnStdinEof) {
            Thread watcher = new Thread(() -> {
                try (InputStream in = System.in) {
                    while (in.read() != -1) {
                        // the launcher never writes; EOF means it is gone
                    }
                } catch (IOException ignored) {
                    // treat as EOF
                }
                System.out.println("LocalNode: standard input closed, stopping");
                System.exit(0);
            }, "local-node-stdin-watcher");
            watcher.setDaemon(true);
            watcher.start();
        }
        stopped.await();
    }
}
