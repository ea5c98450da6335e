// Apache Kafka in KRaft mode, one node acting as broker and controller, from Maven Central jars.
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Admin } from '@platformatic/kafka';
import { type ServiceDef, singleProcess } from '../service.js';
import { ManagedProcess, freePort, waitFor, run } from '../util.js';
import { tools, versions } from '../tools.js';

export const kafka: ServiceDef<'kafka'> = {
  name: 'kafka',
  async start(ctx) {
    const dir = path.join(ctx.runDir, 'kafka');
    mkdirSync(dir, { recursive: true });
    const [port, controllerPort] = [await freePort(), await freePort()];
    const props = path.join(dir, 'server.properties');
    writeFileSync(props, [
      'process.roles=broker,controller', 'node.id=1', `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`, 'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT', 'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${path.join(dir, 'data')}`, 'num.partitions=1', 'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1', 'transaction.state.log.min.isr=1', 'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1', 'group.initial.rebalance.delay.ms=0',
      // one partition for the internal topics: they are created on first use, and 50 slow that down
      'offsets.topic.num.partitions=1', 'transaction.state.log.num.partitions=1', 'auto.create.topics.enable=false', '',
    ].join('\n'));
    const log4j = path.join(dir, 'log4j2.properties');
    writeFileSync(log4j, ['rootLogger.level=WARN', 'rootLogger.appenderRef.out.ref=out', 'appender.out.type=Console',
      'appender.out.name=out', 'appender.out.layout.type=PatternLayout', 'appender.out.layout.pattern=[%d] %p %m (%c)%n',
      'logger.server.name=kafka.server.KafkaRaftServer', 'logger.server.level=INFO', ''].join('\n'));
    const java = process.env.KOLLECT_JAVA ?? 'java';
    const cp = `${tools.kafkaLibs()}/*`;
    const jvm = ['-Xms256m', '-Xmx512m', '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, '-cp', cp];
    // KRaft storage must be formatted once with a cluster id (16 random bytes, base64url).
    const clusterId = randomBytes(16).toString('base64url');
    // `--cluster-id=` form: a base64url id may start with '-', which a separate argument would not survive
    await run(java, [...jvm, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '--config', props]);
    const logFile = path.join(dir, 'kafka.log');
    const endpoint = { brokers: [`127.0.0.1:${port}`] };
    const r = singleProcess<'kafka'>({
      name: 'kafka', version: `Apache Kafka ${versions.KAFKA_VERSION} (KRaft)`, logFile, endpoint,
      launch: () => new ManagedProcess({ cmd: java, logFile, args: [...jvm, 'kafka.Kafka', props] }),
      ready: (p) => waitFor('kafka', async () => {
        const admin = new Admin({ clientId: 'harness-probe', bootstrapBrokers: endpoint.brokers, retries: 0 });
        // Ready means a client can use groups: wait until the group coordinator has loaded.
        try {
          await admin.metadata({ topics: [] });
          await admin.listConsumerGroupOffsets({ groups: ['harness-probe'] });
        } finally { await admin.close(); }
        return true;
      }, 90_000, () => p.alive),
    });
    await r.boot();
    return r;
  },
};
