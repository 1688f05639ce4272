#!/bin/sh
# The compose stack's Kafka broker (deploy/compose/compose.yaml), configured as the local
# launchers' (deploy/kafka/server.properties.template, deploy/kafka.sh): one combined broker
# + controller; SASL_SSL on every listener (SCRAM-SHA-512 for clients and the broker itself,
# PLAIN for the controller listener, which SCRAM cannot serve), the broker's certificate from
# the keystore secret; every request authorised by ACL, the admin the one super user.
# Secrets (files under /run/secrets, never in the image or compose.yaml): kafka_admin (the
# admin's password), kafka_keystore (PKCS12: key and certificate for kafka, localhost and
# 127.0.0.1), kafka_keystore_password, kafka_ca (the CA the broker's own connections verify).
# Not run here: this project's machines have no Docker engine.
set -eu

secrets=/run/secrets
admin_password=$(cat "$secrets/kafka_admin")
keystore_password=$(cat "$secrets/kafka_keystore_password")
data=/var/lib/kafka/data
properties=/tmp/acms-server.properties
umask 077

cat >"$properties" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@kafka:9093
listeners=SASL_SSL://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093,HOST://0.0.0.0:59092
advertised.listeners=SASL_SSL://kafka:9092,HOST://127.0.0.1:${ADVERTISED_HOST_PORT:-59092}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL,HOST:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
listener.name.host.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.host.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_password" user_admin="$admin_password";
ssl.keystore.type=PKCS12
ssl.keystore.location=$secrets/kafka_keystore
ssl.keystore.password=$keystore_password
ssl.key.password=$keystore_password
ssl.truststore.type=PEM
ssl.truststore.location=$secrets/kafka_ca
ssl.endpoint.identification.algorithm=https
ssl.client.auth=none
ssl.enabled.protocols=TLSv1.3,TLSv1.2
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
log.dirs=$data
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
PROPERTIES

# The healthcheck's client: the admin, over TLS, verifying the broker against the CA.
cat >/tmp/acms-admin.properties <<PROPERTIES
security.protocol=SASL_SSL
ssl.truststore.type=PEM
ssl.truststore.location=$secrets/kafka_ca
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
PROPERTIES

# Formatted once, with the admin's SCRAM credential: the broker needs it before it can serve
# anyone (KIP-900). The services' principals are made by the kafka-acls one-shot. SCRAM users
# are never deleted (acms_platform.kafka_admin explains why).
if [ ! -f "$data/meta.properties" ]; then
  /opt/kafka/bin/kafka-storage.sh format --config "$properties" --cluster-id "$CLUSTER_ID" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=$admin_password]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$properties"
