# Prints a TCP port on 127.0.0.1 that is free now (the kernel picks it). Sourced by the
# start-*.sh scripts beside this file.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
