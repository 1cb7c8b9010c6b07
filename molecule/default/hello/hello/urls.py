"""GET / records a visit and says how many there were."""

from django.http import HttpResponse
from django.urls import path
from greetings.models import Visit


def hello(request):
    Visit.objects.create()
    return HttpResponse(f"hello {Visit.objects.count()}\n", content_type="text/plain")


urlpatterns = [path("", hello)]
