/* freeport.c: prints a TCP port on 127.0.0.1 that was free a moment ago
 * (bind port 0, read it back, close). bench/run.sh uses it for nginx, which
 * cannot report the port it bound; run.sh retries if the port is taken in
 * between.
 *
 * Build: gcc -O2 -std=c11 -D_GNU_SOURCE -o build/bench/freeport bench/freeport.c */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) != 0) {
        perror("freeport");
        return 1;
    }
    printf("%u\n", (unsigned)ntohs(a.sin_port));
    close(s);
    return 0;
}
