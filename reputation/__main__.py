# The handshake log must be in place before gRPC loads (it reads GRPC_TRACE once, at import).
from reputation.handshakes import HandshakeLog

handshakes = HandshakeLog.install()

from reputation.server import main  # noqa: E402

main(handshakes=handshakes)
