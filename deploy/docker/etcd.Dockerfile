# etcd from Debian's etcd-server package (3.4), the etcd the project is tested against,
# as an unprivileged user. Flags come from the Compose file or the StatefulSet.
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server etcd-client tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/etcd && chown 1000:1000 /var/lib/etcd
USER 1000:1000
EXPOSE 2379 2380
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["etcd", "--version"]
