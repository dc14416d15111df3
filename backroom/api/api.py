from ninja import NinjaAPI

api = NinjaAPI(title="Backroom API", version="1")
