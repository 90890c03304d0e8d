import socket, time
# UDP 127.0.0.2:40001 -> 127.0.0.3:9999, 4 datagrams of 100 bytes payload
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.2', 40001))
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(('127.0.0.3', 9999))
for i in range(4):
    s.sendto(b'x'*100, ('127.0.0.3', 9999))
# TCP 127.0.0.2:40002 -> 127.0.0.3:8080: 1000 bytes up, 2000 down, close
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('127.0.0.3', 8080)); l.listen(1)
c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); c.bind(('127.0.0.2', 40002)); c.connect(('127.0.0.3', 8080))
a, _ = l.accept()
c.sendall(b'u'*1000)
got = 0
while got < 1000: got += len(a.recv(4096))
a.sendall(b'd'*2000)
got = 0
while got < 2000: got += len(c.recv(4096))
c.close(); time.sleep(0.2); a.close(); time.sleep(0.2)
# IPv6 UDP [::1]:40003 -> [::1]:9998, 2 datagrams of 200 bytes
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s6.bind(('::1', 40003))
r6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); r6.bind(('::1', 9998))
for i in range(2):
    s6.sendto(b'v'*200, ('::1', 9998))
time.sleep(0.2)
