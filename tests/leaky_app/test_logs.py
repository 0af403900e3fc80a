import io
import json
import logging

from leaky_app.context import request_id_var
from leaky_app.logs import configure_logging


def test_every_line_is_json_with_the_request_id() -> None:
    stream = io.StringIO()
    handler = configure_logging("INFO", stream=stream)
    root = logging.getLogger()
    # configure_logging is idempotent; route this test's output to our stream.
    assert isinstance(handler, logging.StreamHandler)
    old = handler.setStream(stream)
    try:
        token = request_id_var.set("rid-42")
        try:
            logging.getLogger("leaky_app.test").info("inside", extra={"route": "/x"})
        finally:
            request_id_var.reset(token)
        logging.getLogger("leaky_app.test").warning("outside")
    finally:
        handler.setStream(old)
        root.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["request_id"] == "rid-42"
    assert inside["message"] == "inside"
    assert inside["route"] == "/x"
    assert inside["level"] == "INFO"
    assert outside["request_id"] is None
