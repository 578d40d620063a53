"""GET /: the version document."""
import falcon

from minova.placement import microversion


def home(req: falcon.Request, resp: falcon.Response) -> None:
    resp.media = {'versions': [{
        'id': f'v{microversion.MIN_VERSION}',
        'max_version': microversion.MAX_VERSION,
        'min_version': microversion.MIN_VERSION,
        'status': 'CURRENT',
        # Relative: "this same URL", whatever proxy the client came through.
        'links': [{'rel': 'self', 'href': ''}],
    }]}
