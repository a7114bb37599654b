#!/bin/bash
# runs inside unshare --net --mount --pid --fork --mount-proc
set -e
BACKEND=$1; OUT=$2
mount --make-rprivate /
SAVE=$(mktemp -d /tmp/cni-cap/etc.XXXX); cp -a /etc/containers/. $SAVE/
cp -a /etc/cni/net.d/. $SAVE/cni 2>/dev/null || mkdir -p $SAVE/cni; cp -a /etc/cni/net.d/. $SAVE/cni/
for d in /run /var/lib/cni /etc/cni/net.d /etc/containers /var/lib/containers /etc/netns; do mkdir -p $d; mount -t tmpfs tmpfs $d; done
cp -a $SAVE/. /etc/containers/; rm -rf /etc/containers/cni
if [ "$BACKEND" = cni ]; then cp -a $SAVE/cni/. /etc/cni/net.d/; fi
rm -rf $SAVE
cat > /etc/containers/containers.conf <<C
[containers]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
[network]
network_backend = "$BACKEND"
C
printf '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n' > /etc/containers/storage.conf
ip link set lo up
R=/var/lib/containers/root; mkdir -p $R/bin $R/etc
cp /bin/busybox $R/bin/busybox; chroot $R /bin/busybox --install -s /bin
echo 'root:x:0:0:root:/root:/bin/sh' > $R/etc/passwd
tar -C $R -cf /var/lib/containers/r.tar . ; rm -rf $R
podman import -q /var/lib/containers/r.tar localhost/bb >/dev/null
podman network create --subnet 10.77.0.0/29 small >/dev/null
podman run -d --name c1 localhost/bb sleep 1000 >/dev/null
podman run -d --name c2 -p 18080:80 localhost/bb sleep 1000 >/dev/null
podman run -d --name c3 --network small localhost/bb sleep 1000 >/dev/null
podman run -d --name c4 --network small localhost/bb sleep 1000 >/dev/null
for i in 5 6 7; do podman run -d --name c$i --network small localhost/bb sleep 1000 >/dev/null; done
podman run -d --name c8 --network small localhost/bb sleep 1000 > /dev/null 2> /tmp/cni-cap/c8-$BACKEND.txt || true
mkdir -p $OUT
podman network ls > $OUT/podman-network-ls.txt
podman network inspect podman small > $OUT/podman-network-inspect.json
podman inspect c1 c2 c3 c4 c5 c6 c7 --format '{{.Id}} {{range $k,$v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}' > $OUT/podman-inspect.txt
cp /etc/containers/containers.conf $OUT/containers.conf
ls -la /etc/cni/net.d /etc/containers/networks /run/containers/networks /var/lib/cni/networks/* > $OUT/listing.txt 2>&1 || true
cp -a /etc/containers/networks $OUT/ 2>/dev/null || true
cp /run/containers/networks/ipam.db $OUT/ 2>/dev/null || true
cp -a /etc/cni/net.d $OUT/cni-net.d 2>/dev/null || true
cp -a /var/lib/cni/networks $OUT/cni-networks 2>/dev/null || true
cat /var/lib/containers/storage/defaultNetworkBackend > $OUT/defaultNetworkBackend 2>/dev/null || true
ip -j link > $OUT/ip-link.json
# leak: kill c4's sleep with SIGKILL via the runtime state cleanup bypass: remove container state
podman stop -t 0 c1 >/dev/null; podman rm c1 >/dev/null
podman inspect c2 c3 c4 c5 c6 c7 --format '{{.Id}}' > $OUT/after-rm-c1.txt
cp /run/containers/networks/ipam.db $OUT/ipam-after-rm.db 2>/dev/null || true
podman rm -f -a >/dev/null 2>&1 || true
